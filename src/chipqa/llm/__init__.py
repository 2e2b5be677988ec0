"""LLM backends: the bundled Gemma through llama.cpp, OpenAI-compatible servers, OpenAI."""
