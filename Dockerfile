# syntax=docker/dockerfile:1
# threadlock coordinator image: `docker build -t threadlock .` from the repository root.
#
# Two stages on the same base image, so the virtualenv built in the first runs unchanged in the
# second (its interpreter links point at the base image's Python). All dependencies are
# pure-Python or have manylinux wheels (grpcio, protobuf), so no compiler is needed even in
# the build stage; the final stage gets only the virtualenv (without pip or setuptools): no pip
# cache, no sources. The base image's own Python keeps its pip; nothing runs it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/threadlock
# README.md: pyproject.toml names it as the package's readme, so the build reads it.
COPY pyproject.toml README.md ./
COPY coordinator ./coordinator
# A regular (not editable) install, with the [otel] extra so that the chart's tracing.enabled
# can turn traces on (off unless --otel): the package is copied into the venv, bytecode compiled
# here because the final root filesystem is read-only. Then the venv's own installers go: the
# image never installs anything at run time, and nothing in it imports them.
RUN /opt/threadlock/bin/pip install --no-compile '.[otel]' \
    && /opt/threadlock/bin/python -m compileall -q /opt/threadlock/lib \
    && /opt/threadlock/bin/python -m pip uninstall -y pip setuptools

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="threadlock" \
      org.opencontainers.image.description="gRPC lock coordinator backed by etcd leases" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/threadlock /opt/threadlock
# In a container the server must listen on all interfaces (its own default is loopback).
ENV PATH=/opt/threadlock/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    THREADLOCK_LISTEN=0.0.0.0:50051
# A numeric, unprivileged user: Kubernetes' runAsNonRoot can only verify a numeric UID.
USER 10001:10001
# gRPC, plaintext health (used when the gRPC port speaks TLS), Prometheus metrics, and the
# HTTP/JSON (Connect) port, served only with --http-listen / the chart's http.enabled.
EXPOSE 50051 50052 9090 8080
# Exec form: threadlock is PID 1 and gets SIGTERM itself. It installs its own handler
# (health NOT_SERVING, then --shutdown-grace seconds for in-flight calls) and starts no child
# processes, so no init process is needed to forward signals or reap zombies.
STOPSIGNAL SIGTERM
ENTRYPOINT ["threadlock"]
CMD ["serve"]
