"""``hf-inference:<model>``: Hugging Face Inference Providers or a dedicated Inference
Endpoint, through ``huggingface_hub.InferenceClient``.

- text: ``chat_completion``, streamed (Stop closes the stream);
- image: ``text_to_image``; audio: ``text_to_speech``; video: ``text_to_video``.

``<model>`` is a Hub model id (served by ``AIGC_HF_PROVIDER``, default ``auto``), or give the
endpoint's URL as ``--<modality>-base-url`` (then the model name is sent in the request, as
OpenAI-compatible endpoints such as TGI expect). The token is ``AIGC_<MODALITY>_API_KEY`` or
``HF_TOKEN``. Failures become the messages of ``remote_errors``.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from aigc_demo.backends.openai_remote import DEFAULT_VOICE, REMOTE_AUDIO_PARAMS
from aigc_demo.backends.remote import RemoteBackend, api_key
from aigc_demo.backends.remote_errors import guarded, with_retries
from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.core.params import IMAGE_PARAMS, TEXT_PARAMS, VIDEO_PARAMS
from aigc_demo.core.types import (
    AudioRequest,
    CancelToken,
    GenerationResult,
    ImageRequest,
    ProgressFn,
    TextRequest,
    VideoRequest,
    no_progress,
    resolve_seed,
)


class HFInferenceBackend(RemoteBackend):
    scheme = "hf-inference"
    key_env = "HF_TOKEN"
    default_url = "https://router.huggingface.co"

    def make_client(self) -> Any:
        from huggingface_hub import InferenceClient

        token, _ = api_key(self.modality, self.key_env)
        if self.base_url and self.base_url != self.default_url:  # a dedicated endpoint or server
            return InferenceClient(base_url=self.base_url, token=token, timeout=self.timeout)
        return InferenceClient(model=self.name, provider=os.environ.get("AIGC_HF_PROVIDER", "auto"),  # type: ignore[arg-type]
                               token=token, timeout=self.timeout)

    def list_models(self) -> list[str]:
        """An endpoint's OpenAI-style model list (a provider has none to offer: the model is named)."""
        if not self.base_url or self.base_url == self.default_url:
            return [self.name]
        import httpx

        key, _ = api_key(self.modality, self.key_env)
        response = httpx.get(f"{self.base_url.rstrip('/')}/models", timeout=min(self.timeout, 5.0),
                             headers={"Authorization": f"Bearer {key}"} if key else {})
        response.raise_for_status()
        return [item["id"] for item in response.json().get("data", [])]

    @property
    def _model_arg(self) -> str | None:
        """The model named per call when the client points at a URL; else the client's own."""
        return self.name if self.base_url and self.base_url != self.default_url else None

    def _call(self, call: Any, cancel: CancelToken | None) -> Any:
        return with_retries(call, self.server, cancel, models=self.models_text)



class HFInferenceText(HFInferenceBackend):
    modality = "text"
    params = TEXT_PARAMS

    def stream(
        self, model: Any, request: TextRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> Iterator[str | GenerationResult]:
        request = replace(request, seed=resolve_seed(request.seed))
        messages = request.messages()
        sampling = self.sampling(request)
        started, text, pieces = time.perf_counter(), "", 0
        chunks = self._call(lambda: model.chat_completion(
            messages, model=self._model_arg, max_tokens=request.max_new_tokens, seed=request.seed, stream=True,
            **sampling), cancel)
        try:
            for chunk in guarded(iter(chunks), self.server):
                piece = (chunk.choices[0].delta.content or "") if chunk.choices else ""
                if not piece:
                    continue
                pieces += 1
                text += piece
                progress(pieces, request.max_new_tokens, "Generating text")
                yield text
                if cancel is not None and cancel.cancelled:
                    break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # the connection closes: the server ends its generation
        yield self._result(request, request.seed, started, [], cancel, text=text, notes=(f"{pieces} streamed pieces",))


class HFInferenceImage(HFInferenceBackend):
    modality = "image"
    params = IMAGE_PARAMS

    def generate(
        self, model: Any, request: ImageRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        seed, started, files = resolve_seed(request.seed), time.perf_counter(), []
        for index in range(request.num_images):  # image i uses seed + i, as locally
            progress(index, request.num_images, f"Waiting for {self.server.url}")
            image = self._call(lambda: model.text_to_image(
                request.prompt, model=self._model_arg, negative_prompt=request.negative_prompt or None,
                width=request.width, height=request.height, num_inference_steps=request.num_inference_steps,
                guidance_scale=request.guidance_scale, seed=seed + index), cancel)
            path = new_output_path(out_dir, self.modality, ".png")
            with atomic_path(path) as tmp:
                image.save(tmp, format="PNG")
            files.append(path)
        return self._result(request, seed, started, files, cancel)


class HFInferenceAudio(HFInferenceBackend):
    modality = "audio"
    params = REMOTE_AUDIO_PARAMS

    def generate(
        self, model: Any, request: AudioRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        import soundfile as sf

        seed, started = resolve_seed(request.seed), time.perf_counter()
        progress(0, 1, f"Waiting for {self.server.url}")
        data = self._call(lambda: model.text_to_speech(request.prompt, model=self._model_arg), cancel)
        try:
            audio, rate = sf.read(io.BytesIO(data), dtype="float32")
        except Exception as error:
            raise self.server.error("malformed", detail=f"the audio is not a sound file ({len(data)} bytes)") from error
        path = new_output_path(out_dir, self.modality, ".wav")
        with atomic_path(path) as tmp:
            sf.write(tmp, audio, rate, subtype="PCM_16", format="WAV")
        voice = request.voice_preset if request.voice_preset and "_speaker_" not in request.voice_preset else DEFAULT_VOICE
        return self._result(replace(request, voice_preset=voice), seed, started, [path], cancel,
                            notes=(f"{rate} Hz, {len(audio) / rate:.1f} s",))


class HFInferenceVideo(HFInferenceBackend):
    modality = "video"
    params = VIDEO_PARAMS

    def generate(
        self, model: Any, request: VideoRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        seed, started = resolve_seed(request.seed), time.perf_counter()
        progress(0, 1, f"Waiting for {self.server.url}")
        data = self._call(lambda: model.text_to_video(
            request.prompt, model=self._model_arg, num_frames=request.num_frames,
            num_inference_steps=request.num_inference_steps, guidance_scale=request.guidance_scale,
            negative_prompt=[request.negative_prompt] if request.negative_prompt else None, seed=seed), cancel)
        if not data[4:8] == b"ftyp" and not data.startswith(b"\x1aE\xdf\xa3"):  # MP4 or WebM
            raise self.server.error("malformed", detail=f"the video is not an MP4/WebM file ({len(data)} bytes)")
        path = new_output_path(out_dir, self.modality, ".mp4" if data[4:8] == b"ftyp" else ".webm")
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return self._result(request, seed, started, [path], cancel)
