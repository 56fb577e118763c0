# NrpHost's server: the NRP backend's REST contract, the embedded MQTT broker and the dashboard, with simulations in
# worker processes. Configured by environment variables only (README, "Configuration"; "Operating NrpHost").
#
# Built two ways:
#   - multi-stage, where image registries are reachable: the .NET SDK image publishes, a Debian image runs
#       docker build -t nrphost .
#   - from a publish output made on the host, for machines without a registry:
#       dotnet publish NrpHost.Api -c Release -r linux-x64 --self-contained -o artifacts/container/app
#       podman build --target prebuilt -t nrphost .
# The base images are build arguments. eng/container-test.sh makes the runtime base from Debian packages (mmdebstrap)
# where no registry is reachable, builds the prebuilt way and runs a simulation in the image.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

# ---- build: the server published self-contained (it carries its runtime and is its own worker process) ----
FROM ${SDK_IMAGE} AS build
ARG TARGETARCH
# A C compiler and CPython's headers build the native step stamps; without them profiling uses the Python stamps.
RUN if command -v apt-get >/dev/null; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev python3-dev \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY . .
RUN case "${TARGETARCH:-amd64}" in arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac \
    && dotnet publish NrpHost.Api/NrpHost.Api.csproj -c Release -r "$rid" --self-contained -o /app

# ---- runtime-base: Debian with CPython 3.11, bubblewrap and an unprivileged user ----
FROM ${RUNTIME_IMAGE} AS runtime-base
# CPython 3.11 with its shared library (embedded by the server and its workers), bubblewrap (the Sandbox isolation),
# tini (PID 1: forwards SIGTERM, so running simulations are stopped and archived; reaps what a script left behind),
# curl (the health check). A base that has them all already (eng/container-test.sh's) installs nothing.
RUN set -eu; missing=""; \
    for package in python3 libpython3.11 bubblewrap tini curl ca-certificates; do \
      dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing="$missing $package"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
      && rm -rf /var/lib/apt/lists/*; \
    fi
RUN groupadd --system --gid 10001 nrphost \
    && useradd --system --uid 10001 --gid nrphost --home-dir /var/lib/nrphost --no-create-home --shell /usr/sbin/nologin nrphost \
    && mkdir -p /srv/nrphost/experiments /var/lib/nrphost \
    && chown nrphost:nrphost /srv/nrphost/experiments /var/lib/nrphost
# The checkout's experiments (the samples): a new named volume starts with them.
COPY --chown=nrphost:nrphost experiments/ /srv/nrphost/experiments/
ENV ASPNETCORE_URLS=http://0.0.0.0:8090 \
    NrpHost__Mqtt__EmbeddedBindAddress=0.0.0.0 \
    NrpHost__Storage__LocalRoot=/srv/nrphost/experiments \
    NrpHost__Simulation__WorkDirectory=/var/lib/nrphost \
    NRPHOST_HEALTH_URL=http://127.0.0.1:8090/health \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/srv/nrphost/experiments", "/var/lib/nrphost"]
EXPOSE 8090 1883
USER nrphost
WORKDIR /var/lib/nrphost
# Unhealthy (503) when simulations cannot run here; degraded (200) when, say, MQTT status cannot be published.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD curl -fsS -o /dev/null "$NRPHOST_HEALTH_URL" || exit 1
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/nrphost/NrpHost.Api"]

# ---- prebuilt: from a publish output on the host (artifacts/container/app) ----
# The application is root's and read-only to the server; its Python packages are compiled once, here.
FROM runtime-base AS prebuilt
COPY artifacts/container/app/ /opt/nrphost/
USER root
RUN python3 -m compileall -q /opt/nrphost/nrphost-python
USER nrphost

# ---- runtime (the default target): from the build stage ----
FROM runtime-base AS runtime
COPY --from=build /app/ /opt/nrphost/
USER root
RUN python3 -m compileall -q /opt/nrphost/nrphost-python
USER nrphost
