"""``openai:<model>``: any OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp's server,
Ollama, LocalAI, OpenAI itself) through the official ``openai`` client.

- text: ``/v1/chat/completions``, streamed; Stop closes the stream, which ends the server's
  generation (servers stop when the client disconnects); seed and sampling are passed through;
- image: ``/v1/images/generations`` with ``response_format=b64_json``, written as PNG;
- audio: ``/v1/audio/speech`` as WAV.

The server is ``--<modality>-base-url`` / ``AIGC_<MODALITY>_BASE_URL`` (default: the client's
own, ``OPENAI_BASE_URL`` or api.openai.com); the key is ``AIGC_<MODALITY>_API_KEY`` or
``OPENAI_API_KEY``. Failures become the messages of ``remote_errors``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from aigc_demo.backends.remote import PLACEHOLDER_KEY, RemoteBackend, api_key
from aigc_demo.backends.remote_errors import guarded, with_retries
from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.core.params import IMAGE_PARAMS, TEXT_PARAMS, Param, Params
from aigc_demo.core.text import Bilingual
from aigc_demo.core.types import (
    AudioRequest,
    CancelToken,
    GenerationResult,
    ImageRequest,
    ProgressFn,
    TextRequest,
    no_progress,
    resolve_seed,
)

DEFAULT_VOICE = "alloy"
REMOTE_AUDIO_PARAMS = Params(
    AudioRequest,
    Param("prompt", "prompt", Bilingual("Prompt", "提示词"), max_chars=2000),
    Param("voice_preset", "text", Bilingual("Voice", "音色"),
          Bilingual("A voice the server knows (e.g. alloy); a Bark preset or empty uses alloy.",
                    "服务器支持的音色（如 alloy）；Bark 预设或留空时使用 alloy。"), max_chars=100),
    TEXT_PARAMS["seed"],
)


class OpenAIBackend(RemoteBackend):
    scheme = "openai"
    key_env = "OPENAI_API_KEY"

    def make_client(self) -> Any:
        from openai import OpenAI

        key, _ = api_key(self.modality, self.key_env)
        # Retries are ours (remote_errors.with_retries): one policy, one message per failure.
        return OpenAI(api_key=key or PLACEHOLDER_KEY, base_url=self.base_url or None, timeout=self.timeout,
                      max_retries=0)

    def list_models(self) -> list[str]:
        client = self.client().with_options(timeout=min(self.timeout, 5.0))  # a status check stays quick
        return [model.id for model in client.models.list()]

    def _extra(self, **values: Any) -> dict[str, Any] | None:
        """Parameters outside the OpenAI API (seed of an image, steps...): sent to other servers
        only, since api.openai.com refuses unknown ones."""
        if "api.openai.com" in self.server.url:
            return None
        return {k: v for k, v in values.items() if v is not None} or None

    def _call(self, call: Any, cancel: CancelToken | None) -> Any:
        return with_retries(call, self.server, cancel, models=self.models_text)


class OpenAIText(OpenAIBackend):
    modality = "text"
    params = TEXT_PARAMS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # How this server takes a JSON schema: the OpenAI form first; llama-cpp-python's own
        # form ({"type": "json_object", "schema": ...}) once the server refused the first.
        self._json_forms = ["json_schema", "json_object"]

    def _response_format(self, schema: str) -> dict[str, Any]:
        if self._json_forms[0] == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "answer", "schema": json.loads(schema)}}
        return {"type": "json_object", "schema": json.loads(schema)}

    def stream(
        self, model: Any, request: TextRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> Iterator[str | GenerationResult]:
        """Yield the text so far, then the result; Stop closes the stream (the server stops)."""
        request = replace(request, seed=resolve_seed(request.seed))
        messages = request.messages()
        sampling = self.sampling(request)
        extra = self._extra(repetition_penalty=request.repetition_penalty if request.repetition_penalty != 1.0 else None,
                            repeat_penalty=request.repetition_penalty if request.repetition_penalty != 1.0 else None)

        def open_stream() -> Any:
            options: dict[str, Any] = {}
            if request.response_schema:
                options["response_format"] = self._response_format(request.response_schema)
            try:
                return model.chat.completions.create(
                    model=self.name, messages=messages, max_tokens=request.max_new_tokens, seed=request.seed,
                    stream=True, extra_body=extra, **sampling, **options)
            except Exception as error:  # the server does not know this schema form: use the other
                # (llama-cpp-python answers such a request with 500, others with 400 or 422)
                if request.response_schema and getattr(error, "status_code", None) in (400, 422, 500) \
                        and len(self._json_forms) > 1:
                    self._json_forms.pop(0)
                    return open_stream()
                raise

        text, pieces, started, first_token = "", 0, time.perf_counter(), 0.0
        chunks = self._call(open_stream, cancel)
        try:
            for chunk in guarded(iter(chunks), self.server):
                if not chunk.choices:
                    continue
                piece = chunk.choices[0].delta.content or ""
                if not piece:
                    continue
                pieces += 1
                first_token = first_token or time.perf_counter() - started
                text += piece
                progress(pieces, request.max_new_tokens, "Generating text")
                yield text
                if cancel is not None and cancel.cancelled:
                    break
        finally:
            chunks.close()  # the connection closes: the server ends its generation
        seconds = time.perf_counter() - started
        rate = pieces / max(seconds - first_token, 1e-9) if pieces > 1 else 0.0
        yield self._result(request, request.seed, started, [], cancel, text=text,
                           notes=(f"{pieces} streamed pieces", f"first piece after {first_token:.2f} s, then {rate:.1f} pieces/s"))


class OpenAIImage(OpenAIBackend):
    modality = "image"
    params = IMAGE_PARAMS

    def generate(
        self, model: Any, request: ImageRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        from PIL import Image

        seed = resolve_seed(request.seed)
        started = time.perf_counter()
        progress(0, 1, f"Waiting for {self.server.url}")
        extra = self._extra(seed=seed, negative_prompt=request.negative_prompt or None,
                            num_inference_steps=request.num_inference_steps, guidance_scale=request.guidance_scale)
        reply = self._call(lambda: model.images.generate(
            model=self.name, prompt=request.prompt, n=request.num_images, size=f"{request.width}x{request.height}",
            response_format="b64_json", extra_body=extra), cancel)
        files: list[Path] = []
        for index, item in enumerate(getattr(reply, "data", None) or []):
            try:
                data = base64.b64decode(item.b64_json or "", validate=True)
                image = Image.open(io.BytesIO(data))
                image.verify()  # a whole, readable picture (cheap: nothing is decoded twice)
            except (binascii.Error, OSError, ValueError, SyntaxError) as error:
                raise self.server.error("malformed", detail=f"image {index + 1} is not a picture: {error}") from error
            path = new_output_path(out_dir, self.modality, ".png")
            with atomic_path(path) as tmp:
                if image.format == "PNG":  # kept as the server made it
                    tmp.write_bytes(data)
                else:
                    Image.open(io.BytesIO(data)).save(tmp, format="PNG")
            files.append(path)
        if not files:
            raise self.server.error("malformed", detail="no image in the reply")
        progress(1, 1, "image received")
        return self._result(request, seed, started, files, cancel, notes=(f"{len(files)} image(s)",))


class OpenAIAudio(OpenAIBackend):
    modality = "audio"
    params = REMOTE_AUDIO_PARAMS

    def generate(
        self, model: Any, request: AudioRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        import soundfile as sf

        seed = resolve_seed(request.seed)
        voice = request.voice_preset.strip()
        voice = DEFAULT_VOICE if not voice or voice.startswith("v2/") or "_speaker_" in voice else voice
        started = time.perf_counter()
        progress(0, 1, f"Waiting for {self.server.url}")
        reply = self._call(lambda: model.audio.speech.create(
            model=self.name, voice=voice, input=request.prompt, response_format="wav",
            extra_body=self._extra(seed=seed)), cancel)
        data = reply.content if hasattr(reply, "content") else reply.read()
        try:
            info = sf.info(io.BytesIO(data))  # the header only: a readable sound file, its rate and length
        except Exception as error:
            raise self.server.error("malformed", detail=f"the audio is not a WAV file ({len(data)} bytes)") from error
        path = new_output_path(out_dir, self.modality, ".wav")
        with atomic_path(path) as tmp:
            if info.format == "WAV":  # kept as the server made it
                tmp.write_bytes(data)
            else:
                audio, _ = sf.read(io.BytesIO(data), dtype="float32")
                sf.write(tmp, audio, info.samplerate, subtype="PCM_16", format="WAV")
        rate, seconds = info.samplerate, info.frames / max(info.samplerate, 1)
        progress(1, 1, "speech received")
        return self._result(replace(request, voice_preset=voice), seed, started, [path], cancel,
                            notes=(f"{rate} Hz, {seconds:.1f} s",), server_note=f", voice {voice}")
