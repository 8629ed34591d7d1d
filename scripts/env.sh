# Sourced by the scripts: cargo's tools, and the npm-installed wasm-opt ahead of any other.
export PATH="$PWD/end2end/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
