// as-pect: AssemblyScript kernel specs (npm test runs them with the host tests).
export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory }, wisp_kernels: { wisp_kernels: () => 0, wisp_dot_s8() {}, wisp_depthwise_s8() {}, wisp_add_s8() {} } }));
  },
  outputBinary: false,
};
