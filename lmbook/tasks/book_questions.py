"""Held-out questions about the book, for measuring "ask the book" retrieval.

Each question was written by hand in a reader's own words (not copied from a page), and
names the page that answers it. The pages are the gold: a retriever's hit counts when it
comes from that page. Nothing is tuned on these questions; they only measure recall@k.

Introduced in: Chapter 6 (6.3 question answering: recall@k of dense retrieval vs BM25).
"""

from __future__ import annotations

__all__ = ["BOOK_QUESTIONS"]

# (question, page that answers it, relative to chapters/)
BOOK_QUESTIONS: list[tuple[str, str]] = [
    # 1.1 n-gram language model
    (
        "How do you guess the next letter just by counting what came before?",
        "01-background/ngram-lm.ipynb",
    ),
    (
        "What is Kneser-Ney smoothing and why does it help a count model?",
        "01-background/ngram-lm.ipynb",
    ),
    ("Why do word-level count models run out of data so fast?", "01-background/ngram-lm.ipynb"),
    # 1.2 history
    ("Who first measured the entropy of English text, and how?", "01-background/history.ipynb"),
    (
        "How many floating-point operations does it take to train a model of a given size?",
        "01-background/history.ipynb",
    ),
    ("How fast have model parameter counts grown over the years?", "01-background/history.ipynb"),
    # 2.1 language models
    (
        "What does perplexity measure and how is it related to cross-entropy?",
        "02-concepts/language-models.ipynb",
    ),
    (
        "How do different tokenizers split the same sentence into pieces?",
        "02-concepts/language-models.ipynb",
    ),
    (
        "What happens to a tokenizer when it meets Chinese or another script it never saw?",
        "02-concepts/language-models.ipynb",
    ),
    # 2.2 self-attention
    (
        "In self-attention, how does each word mix in information from the other words?",
        "02-concepts/self-attention.ipynb",
    ),
    (
        "Can an attention head figure out which noun a pronoun refers to?",
        "02-concepts/self-attention.ipynb",
    ),
    (
        "What jobs do individual attention heads in a trained model actually do?",
        "02-concepts/self-attention.ipynb",
    ),
    # 2.3 BERT vs GPT
    (
        "What is the difference between a causal mask and a bidirectional mask?",
        "02-concepts/bert-vs-gpt.ipynb",
    ),
    (
        "Which share of tokens does BERT hide during training, and what replaces them?",
        "02-concepts/bert-vs-gpt.ipynb",
    ),
    ("When should I pick an encoder model over a decoder model?", "02-concepts/bert-vs-gpt.ipynb"),
    # 3.1 BERT forward
    (
        "How are token, position and segment embeddings added together at BERT's input?",
        "03-algorithms/bert-forward.ipynb",
    ),
    (
        "How can I check that my BERT gives the same numbers as Hugging Face transformers?",
        "03-algorithms/bert-forward.ipynb",
    ),
    (
        "How does BERT turn its final hidden vectors into guesses for a hidden word?",
        "03-algorithms/bert-forward.ipynb",
    ),
    # 3.2 GPT generation
    ("How does a GPT produce text one token after another?", "03-algorithms/gpt-generation.ipynb"),
    (
        "What do temperature, top-k and nucleus sampling change when generating?",
        "03-algorithms/gpt-generation.ipynb",
    ),
    (
        "Why is storing past keys and values enough to make generation cheaper?",
        "03-algorithms/gpt-generation.ipynb",
    ),
    # 4.1 word embeddings
    (
        "How does skip-gram with negative sampling learn word vectors?",
        "04-math/word-embeddings.ipynb",
    ),
    ("How does GloVe fit vectors to co-occurrence statistics?", "04-math/word-embeddings.ipynb"),
    (
        "Can word vectors solve analogies like king minus man plus woman?",
        "04-math/word-embeddings.ipynb",
    ),
    # 4.2 attention math
    (
        "Why are the dot products scaled by the square root of the key dimension?",
        "04-math/attention-math.ipynb",
    ),
    (
        "How does the cost of attention grow with the length of the input?",
        "04-math/attention-math.ipynb",
    ),
    (
        "Why split attention into several heads instead of one big one?",
        "04-math/attention-math.ipynb",
    ),
    # 4.3 encoder FFN
    (
        "What does the position-wise feed-forward network inside a transformer block compute?",
        "04-math/encoder-ffn.ipynb",
    ),
    (
        "Why do transformer layers need residual connections and layer normalization?",
        "04-math/encoder-ffn.ipynb",
    ),
    (
        "Where does a BERT encoder get its ability to look both left and right?",
        "04-math/encoder-ffn.ipynb",
    ),
    # 5.1 BERT pretraining
    (
        "How do you build masked-language-model training examples with the 80/10/10 rule?",
        "05-practice/bert-pretraining.ipynb",
    ),
    (
        "Is it better to pretrain a tiny BERT from scratch or keep training MiniLM?",
        "05-practice/bert-pretraining.ipynb",
    ),
    (
        "How do the fill-in-the-blank guesses change after pretraining?",
        "05-practice/bert-pretraining.ipynb",
    ),
    # 5.2 GPT pretraining
    (
        "How do I save a training run and pick it up again later?",
        "05-practice/gpt-pretraining.ipynb",
    ),
    (
        "How is a long text cut into fixed-length blocks for training a GPT?",
        "05-practice/gpt-pretraining.ipynb",
    ),
    (
        "How do I run GPT pretraining from the terminal or on several GPUs?",
        "05-practice/gpt-pretraining.ipynb",
    ),
    # 6.1 summarization
    (
        "How can you pick the most important sentences of a scientific paper?",
        "06-applications/summarization.ipynb",
    ),
    (
        "Why is taking the first few sentences such a strong summary baseline?",
        "06-applications/summarization.ipynb",
    ),
    (
        "How does maximal marginal relevance avoid repeating itself in a summary?",
        "06-applications/summarization.ipynb",
    ),
    # 6.2 translation
    (
        "How does the decoder look at the source sentence while translating?",
        "06-applications/translation.ipynb",
    ),
    (
        "What is beam search and does a wider beam always translate better?",
        "06-applications/translation.ipynb",
    ),
    ("How is BLEU computed for a machine translation system?", "06-applications/translation.ipynb"),
    # 6.3 question answering
    (
        "How does a model point at the start and end of an answer inside a passage?",
        "06-applications/question-answering.ipynb",
    ),
    (
        "What are exact match and F1 for extractive question answering?",
        "06-applications/question-answering.ipynb",
    ),
    (
        "How can a question find the right paragraph using sentence embeddings?",
        "06-applications/question-answering.ipynb",
    ),
    # 7 tools
    (
        "How do I load GPT-2 weights from transformers into my own model?",
        "07-tools/checkpoints-and-parity.ipynb",
    ),
    (
        "Does my own byte-pair tokenizer match tiktoken, and which one is faster?",
        "07-tools/checkpoints-and-parity.ipynb",
    ),
    ("What files come with an official model release?", "07-tools/checkpoints-and-parity.ipynb"),
    # 8.1 scaling
    (
        "How many parameters does a transformer of a given width and depth have?",
        "08-trends/compute-and-scaling.ipynb",
    ),
    ("What would it cost to train GPT-2 on this computer?", "08-trends/compute-and-scaling.ipynb"),
    (
        "Does validation loss follow a power law as models get bigger?",
        "08-trends/compute-and-scaling.ipynb",
    ),
    # 8.2 efficiency and generalization
    (
        "How much time and memory does fused attention save compared to the plain version?",
        "08-trends/efficiency-and-generalization.ipynb",
    ),
    (
        "Does a model trained on one kind of text still work on a different kind?",
        "08-trends/efficiency-and-generalization.ipynb",
    ),
    (
        "How much faster does caching make generation on long outputs?",
        "08-trends/efficiency-and-generalization.ipynb",
    ),
    # 9.1 embeddings FAQ
    (
        "Should I use Word2Vec, GloVe or a transformer's contextual vectors for my task?",
        "09-faq/q1-embeddings.ipynb",
    ),
    (
        "Do contextual embeddings help a downstream classifier more than static ones?",
        "09-faq/q1-embeddings.ipynb",
    ),
    # 9.2 attention FAQ
    ("What is grouped-query attention and what does it trade away?", "09-faq/q2-attention.ipynb"),
    ("Does limiting attention to a sliding window hurt the model?", "09-faq/q2-attention.ipynb"),
    ("Does torch.compile speed up attention?", "09-faq/q2-attention.ipynb"),
    # 9.3 fine-tuning FAQ
    (
        "What is LoRA and how does it compare with fine-tuning every weight?",
        "09-faq/q3-finetuning.ipynb",
    ),
    (
        "Is it enough to train only a classifier on top of a frozen encoder?",
        "09-faq/q3-finetuning.ipynb",
    ),
    (
        "How do I fine-tune a GPT so that it writes in a particular style?",
        "09-faq/q3-finetuning.ipynb",
    ),
]
