"""Any Gradio app: info.py reads its API, inputs.py fills parameters by name, call.py submits and
reads the SSE stream, space.py is the provider."""
