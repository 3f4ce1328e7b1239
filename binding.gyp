{
  "targets": [
    {
      "target_name": "tcp_keepalive",
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api"
      ],
      "sources": ["src/binding.cc"],
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-fvisibility=hidden", "-std=c++17"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["src/keepalive_posix.cc", "src/keepalive_linux.cc",
                      "src/health_linux.cc"],
          "defines": ["TCPKA_PEER_AFTER_END"]
        }],
        ["OS=='freebsd'", {
          "sources": ["src/keepalive_posix.cc", "src/keepalive_freebsd.cc",
                      "src/health_freebsd.cc"]
        }],
        ["OS=='mac'", {
          "sources": ["src/keepalive_posix.cc", "src/keepalive_darwin.cc",
                      "src/health_darwin.cc"],
          "xcode_settings": {
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "10.13"
          }
        }],
        ["OS=='win'", {
          "sources": ["src/keepalive_win.cc", "src/health_win.cc"],
          "libraries": ["ws2_32.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"] }
          }
        }]
      ]
    }
  ]
}
