// Type-checks the program of a tsconfig.json the way `deno check` sees it, and prints the counts
// that `tsc --extendedDiagnostics` reports, as JSON. Run by `_tsc.ts` with Node:
//
//   node bench/_tsc_program.cjs TYPESCRIPT_PACKAGE_DIR TSCONFIG
//
// The one difference from `tsc -p TSCONFIG`: an import or export preceded by a
// `// @ts-types="..."` (or `@deno-types`) comment takes its types from that module, as in Deno,
// so a module whose importer names its types elsewhere is not checked through that import.
"use strict";

const { dirname, resolve } = require("node:path");
const process = require("node:process");

const [packageDir, configPath] = process.argv.slice(2);
const ts = require(packageDir);

const TYPES_DIRECTIVE = /^\/\/\s*@(?:ts|deno)-types\s*=\s*"([^"]+)"/;

/** The `@ts-types` module named just before the import or export that holds `literal`. */
function typesModule(literal, sourceFile) {
  const statement = literal.parent;
  if (!statement || !(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) {
    return undefined;
  }
  const comments = ts.getLeadingCommentRanges(sourceFile.text, statement.pos) ?? [];
  const last = comments[comments.length - 1];
  if (last === undefined) return undefined;
  return TYPES_DIRECTIVE.exec(sourceFile.text.slice(last.pos, last.end))?.[1];
}

const config = ts.getParsedCommandLineOfConfigFile(resolve(configPath), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
    throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
  },
});
const host = ts.createCompilerHost(config.options);
host.resolveModuleNameLiterals = (literals, containingFile, redirected, options, sourceFile) =>
  literals.map((literal) =>
    ts.resolveModuleName(
      typesModule(literal, sourceFile) ?? literal.text,
      containingFile,
      options,
      host,
      undefined,
      redirected,
    )
  );

const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
const started = performance.now();
const diagnostics = [
  ...program.getConfigFileParsingDiagnostics(),
  ...program.getSyntacticDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...program.getSemanticDiagnostics(),
];
const checkSeconds = (performance.now() - started) / 1000;
const checker = program.getTypeChecker();
const base = dirname(resolve(configPath));
const errors = diagnostics
  .filter((d) => d.category === ts.DiagnosticCategory.Error)
  .map((d) => ({
    file: d.file ? d.file.fileName.replace(`${base}/`, "") : "",
    message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`,
  }));
console.log(JSON.stringify({
  instantiations: checker.getInstantiationCount(),
  types: checker.getTypeCount(),
  checkSeconds: Math.round(checkSeconds * 100) / 100,
  modules: program.getSourceFiles().filter((f) => !f.isDeclarationFile).length,
  errors,
}));
