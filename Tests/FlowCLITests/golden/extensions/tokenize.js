// Stands in for flows/extensions/tokenize.js in the golden cases, which check flows and never
// serve them: 'flow check' looks for the module an extension's 'web' names.
export async function run(args, host) {
  throw new Error("only a stand-in for the golden cases");
}
