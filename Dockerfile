# syntax=docker/dockerfile:1
# postwave: one image for every role; the role is the command:
#   docker run IMAGE api | worker | scheduler | webhooks | tracker | feedback | serve | doctor
#
# Stage "build" compiles the Cython hot path (native/*.pyx) and installs postwave with its
# dependencies into a virtual environment at /opt/postwave; the runtime stage copies only that
# environment onto a slim base with no compiler, and runs as an unprivileged user.
# tests/k8s/test_dockerfile.py runs this file's build-stage commands in a fresh virtualenv
# (CI has no Docker engine), so keep them plain `RUN` shell lines.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# A C compiler for the Cython extensions; the runtime stage has none.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/postwave \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
ENV PATH="${VIRTUAL_ENV}/bin:${PATH}"
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY native ./native
COPY server ./server
# Not editable: the package, its compiled extensions (built with the build-system requirements
# of pyproject.toml) and its dependencies land in the venv. Then fail the build if any compiled
# module is missing: the twins would run, silently slower.
RUN python3 -m venv "$VIRTUAL_ENV" \
 && pip install . \
 && POSTWAVE_REQUIRE_EXTENSIONS=1 postwave doctor

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="postwave" \
      org.opencontainers.image.description="Self-hosted multi-tenant email delivery platform"
RUN groupadd --system --gid 10001 postwave \
 && useradd --system --uid 10001 --gid postwave --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postwave
# Same path as in the build stage: the venv's scripts point at /opt/postwave/bin/python.
COPY --from=build /opt/postwave /opt/postwave
ENV VIRTUAL_ENV=/opt/postwave \
    PATH="/opt/postwave/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    POSTWAVE_REQUIRE_EXTENSIONS=1 \
    POSTWAVE_DATA_DIR=/var/lib/postwave
WORKDIR /var/lib/postwave
USER 10001:10001
# Admin endpoint (/metrics, /healthz, /readyz), gRPC API, REST gateway, tracker, feedback SMTP.
EXPOSE 9464 50051 8081 8080 2525
ENTRYPOINT ["postwave"]
CMD ["--help"]
