# syntax=docker/dockerfile:1
#
# mail_exporter container image: a static binary on distroless, as non-root.
#
#   docker build $(.ci/build --docker-args) -t mail_exporter .
#   docker run --rm -p 9745:9745 \
#     -v "$PWD/targets.yaml:/etc/mail_exporter/targets.yaml:ro" mail_exporter
#
# The build stage runs .ci/build, the same script CI builds and tests with, so
# the flags (CGO off, -trimpath, version ldflags) cannot drift. .git is not in
# the build context (.dockerignore): pass the version facts as build args, which
# `.ci/build --docker-args` prints; without them the binary says "dev".

# GO_VERSION is the Go toolchain of the build stage: go.mod's go directive (tested).
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Module downloads in their own layer: rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=""
ARG REVISION=""
ARG BRANCH=""
ARG BUILD_DATE=""
ARG BUILD_USER=docker
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    VERSION=$VERSION REVISION=$REVISION BRANCH=$BRANCH BUILD_DATE=$BUILD_DATE BUILD_USER=$BUILD_USER \
    .ci/build /out/mail_exporter

# distroless/static: CA certificates (probes verify TLS against the system
# roots), tzdata, /etc/passwd with "nonroot" (65532); no shell, no libc.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="mail_exporter" \
      org.opencontainers.image.description="Prometheus exporter for mail servers: SMTP, IMAP, POP3 endpoints and mail DNS records" \
      org.opencontainers.image.source="https://github.com/mail-exporter/mail_exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/mail_exporter /bin/mail_exporter
# The example config, at the path the default command reads. Mount yours over
# it (or over the directory) and the credentials as files, e.g. /run/secrets/.
COPY --chown=0:0 --chmod=0644 targets.yaml /etc/mail_exporter/targets.yaml
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 9745
ENTRYPOINT ["/bin/mail_exporter"]
CMD ["--config.file=/etc/mail_exporter/targets.yaml"]
