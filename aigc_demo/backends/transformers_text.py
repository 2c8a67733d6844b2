"""Text generation with a transformers causal LM (Hub id, local folder or local ``.gguf``
file), streamed as it is written (read at most every 50 ms: ``catch_up.py``). Cancel stops
``generate`` through a StoppingCriteria."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from aigc_demo.backends.hub import HubBackend
from aigc_demo.core.params import TEXT_PARAMS
from aigc_demo.core.types import (
    CancelToken,
    GenerationResult,
    ModelLoadError,
    ProgressFn,
    TextRequest,
    Timer,
    no_progress,
    request_params,
    resolve_seed,
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class TextModel:
    """What ``load`` returns; the ModelManager moves ``model`` to the device."""

    model: "PreTrainedModel"
    tokenizer: "PreTrainedTokenizerBase"
    model_ref: str


def _from_pretrained_args(model_ref: str) -> tuple[str, dict[str, Any]]:
    """A ``.gguf`` file loads as ``from_pretrained(folder, gguf_file=name)``."""
    path = Path(model_ref).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelLoadError(model_ref, "GGUF file not found")
        return str(path.parent), {"gguf_file": path.name}
    return model_ref, {}


class TransformersText(HubBackend):
    modality = "text"
    scheme = "transformers"
    params = TEXT_PARAMS

    def load(self, device: str, dtype: Any) -> TextModel:
        """Tokenizer + causal LM; ``device`` is not used here: the manager places the model."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        location = self.location()
        source, extra = _from_pretrained_args(location)
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **extra)
        return TextModel(model=model.eval(), tokenizer=tokenizer, model_ref=location)

    def stream(
        self, model: TextModel, request: TextRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> Iterator[str | GenerationResult]:
        """Yield the text so far, growing with every chunk, then the result. Generation runs
        in a worker thread that stops when ``cancel`` is set or the iterator is closed."""
        request = dataclasses.replace(request, seed=resolve_seed(request.seed))
        text, tokens = "", 0
        with Timer() as timer:
            for text, tokens in self._run(model, request, cancel):
                progress(min(tokens, request.max_new_tokens), request.max_new_tokens, "Generating text")
                yield text
        yield GenerationResult(
            modality=self.modality,
            model_ref=model.model_ref,
            seed=request.seed,
            params=request_params(request),
            text=text,
            generate_seconds=timer.seconds,
            cancelled=bool(cancel and cancel.cancelled),
            notes=[f"{tokens} new tokens"] + (["response_schema is not enforced by transformers: the prompt asks for "
                                               "JSON, the answer may not follow it"] if request.response_schema else []),
        )

    # ------------------------------------------------------------ internals

    def _inputs(self, model: TextModel, request: TextRequest) -> dict[str, Any]:
        """Tokenize with the chat template (system + user), or the plain prompt without one."""
        tokenizer = model.tokenizer
        if getattr(tokenizer, "chat_template", None):
            messages = request.messages()
            encoded = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
            )
        else:
            text = f"{request.system_prompt}\n\n{request.prompt}" if request.system_prompt else request.prompt
            encoded = tokenizer(text, return_tensors="pt")
        # Inputs follow the model to wherever the ModelManager put it.
        return {key: value.to(model.model.device) for key, value in encoded.items()}

    def _run(
        self, model: TextModel, request: TextRequest, cancel: CancelToken | None
    ) -> Iterator[tuple[str, int]]:
        """Yield (text so far, tokens generated so far) for a prepared request."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        from aigc_demo.backends.catch_up import CatchUpStreamer

        inputs = self._inputs(model, request)
        prompt_len = inputs["input_ids"].shape[-1]
        stop = threading.Event()  # set when the consumer goes away
        counter = {"tokens": 0}

        class _StopCriteria(StoppingCriteria):
            def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
                counter["tokens"] = input_ids.shape[-1] - prompt_len
                halt = stop.is_set() or bool(cancel and cancel.cancelled)
                return torch.full((input_ids.shape[0],), halt, dtype=torch.bool, device=input_ids.device)

        tokenizer = model.tokenizer
        streamer = CatchUpStreamer(tokenizer, skip_special_tokens=True)  # read at most every 50 ms
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": request.temperature, "top_p": request.top_p}
            if request.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        kwargs = dict(
            **inputs,
            **sampling,
            max_new_tokens=request.max_new_tokens,
            repetition_penalty=request.repetition_penalty,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([_StopCriteria()]),
            pad_token_id=pad_id,
        )
        errors: list[BaseException] = []

        def work() -> None:
            try:
                # Seeds the global torch RNG (CPU and all GPUs): runs in parallel threads can
                # disturb each other's sampling; one run at a time is exactly reproducible.
                # (transformers.set_seed would also reseed `random`, making resolve_seed's
                # later "random" seeds a predictable chain.)
                torch.manual_seed(request.seed)
                with torch.inference_mode():
                    model.model.generate(**kwargs)
            except BaseException as exc:  # surfaced in the consumer below
                errors.append(exc)
                streamer.end()  # unblock the consumer

        thread = threading.Thread(target=work, name="text-generate", daemon=True)
        thread.start()
        text = ""
        try:
            for chunk in streamer:
                if chunk:
                    text += chunk
                    yield text, counter["tokens"]
            thread.join()
            if errors:
                raise errors[0]
        finally:
            stop.set()
            thread.join()
