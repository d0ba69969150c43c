"""The five protocol types live services speak, configured by the operator: openai/ (images,
streamed chat, the wire format), pollinations, fal, replicate, gradio/ (any Space or Gradio app)."""
