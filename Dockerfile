# One image for the API and every worker kind; the command picks the role.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdnnl-dev libonnx-dev g++ make python3 dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm install --no-audit --no-fund && npm run build
ENV DFQ_ARTIFACTS_DIR=/artifacts \
    DFQ_EVAL_DIR=/usr/share/datasets/fashion-mnist
VOLUME /artifacts
ENTRYPOINT ["node", "services/cli/bin/dfq.js"]
