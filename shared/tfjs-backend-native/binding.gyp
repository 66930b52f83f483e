{
  "targets": [
    {
      "target_name": "tfjs_native",
      "sources": [
        "native/addon.cc",
        "native/engine.cc",
        "native/conv.cc",
        "native/elementwise.cc",
        "native/matmul.cc",
        "native/activation.cc",
        "native/channel.cc",
        "native/pool.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-fopenmp", "-march=<!(node -p \"process.env.DFQ_NATIVE_MARCH || 'native'\")"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "libraries": ["-ldnnl", "-lgomp"]
    }
  ]
}
