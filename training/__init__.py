"""Training the next fine-tune from the votes: preference data (``dataset``), a LoRA run in its own process
(``runner`` starts ``run``), and the adapter converted for llama.cpp (``convert``). Needs the ``[train]`` extra;
imports ``bot``, never ``adapters`` or ``storage``."""
