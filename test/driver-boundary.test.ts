import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DRIVER_MODULES } from '../src/drivers/registry.js';

// The driver boundary (issue 17): outside its own folder src/drivers/<x>/ and the registry, no source
// file names a driver, so a new driver is its folder plus one registry line. A file names driver x by
// - the string literal 'x' anywhere (a value or a literal type), for every driver but `simulated`;
// - for `simulated`, which is also every driver's transport name, only as a driver: `driver ===
//   'simulated'`, `driver: 'simulated'` or `case 'simulated':` in a `switch (….driver)`;
// - importing (statically, as a type or dynamically) anything under src/drivers/x/.
// src/drivers/shared/ and src/drivers/contract.ts are outside every driver's folder. The source is
// parsed with the TypeScript compiler, so comments and words inside longer strings do not count.

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const driversDir = join(src, 'drivers');
const REGISTRY = 'src/drivers/registry.ts';
const DRIVER_NAMES = DRIVER_MODULES.map((module) => module.name);
/** The name that is also a transport: it counts only where it is compared with or given as a `driver`. */
const TRANSPORT_TOO = 'simulated';

/**
 * Files that still name a driver, with how many times (none: keep it so). Checked exactly: a file that starts naming a
 * driver fails, and so does a file that no longer does (or less often) until its entry is updated.
 */
const KNOWN_OFFENDERS: Record<string, number> = {
  // Renogy connects through the connected-BLE layer and fake BlueZ that live in the BLE driver's folder
  // (ble/gatt, ble/connectedHost, ble/simulator) until they move to src/drivers/shared/: one door each.
  'src/drivers/renogy/bluez.ts': 2,
  'src/drivers/renogy/dbusDaemon.ts': 1,
  'src/drivers/renogy/simulator/bluezSim.ts': 5,
};

export interface Offence {
  file: string;
  line: number;
  driver: string;
  how: string;
}

/** The driver whose folder holds `file` (repository-relative), or undefined outside every driver's folder. */
function ownerOf(file: string): string | undefined {
  const [top, drivers, folder] = file.split('/');
  if (top !== 'src' || drivers !== 'drivers' || folder === undefined) return undefined;
  return DRIVER_NAMES.includes(folder) && file !== `src/drivers/${folder}` ? folder : undefined;
}

/** The driver whose folder an import specifier of `file` points into, if any. */
function importedDriver(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = relative(driversDir, resolve(root, dirname(file), specifier));
  const [folder, ...rest] = target.split(sep);
  return folder !== undefined && rest.length > 0 && DRIVER_NAMES.includes(folder) ? folder : undefined;
}

/** Whether `node` is `….driver` or `driver` (the thing a driver name is compared with or given to). */
function isDriverKey(node: ts.Node): boolean {
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) return node.text === 'driver';
  if (ts.isStringLiteral(node)) return node.text === 'driver';
  if (ts.isPropertyAccessExpression(node)) return node.name.text === 'driver';
  if (ts.isElementAccessExpression(node))
    return ts.isStringLiteral(node.argumentExpression) && node.argumentExpression.text === 'driver';
  return false;
}

const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

/** How a `'simulated'` literal names the driver, or undefined when it is a transport (or anything else). */
function simulatedAsDriver(literal: ts.Node): string | undefined {
  let node = literal;
  // `driver: 'simulated'` in a type is a LiteralTypeNode around the literal.
  if (ts.isLiteralTypeNode(node.parent)) node = node.parent;
  const parent = node.parent;
  if (ts.isBinaryExpression(parent) && EQUALITY.has(parent.operatorToken.kind)) {
    const other = parent.left === node ? parent.right : parent.left;
    return isDriverKey(other) ? `driver ${parent.operatorToken.getText()} '${TRANSPORT_TOO}'` : undefined;
  }
  if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent)) && isDriverKey(parent.name))
    return `driver: '${TRANSPORT_TOO}'`;
  if (ts.isCaseClause(parent) && isDriverKey(parent.parent.parent.expression))
    return `case '${TRANSPORT_TOO}' of a switch on driver`;
  return undefined;
}

/** Every place `file` (repository-relative) names a driver other than its own. */
export function offencesIn(file: string, text: string): Offence[] {
  const owner = ownerOf(file);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Offence[] = [];
  const report = (node: ts.Node, driver: string, how: string) => {
    if (driver === owner) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push({ file, line, driver, how });
  };
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const driver = importedDriver(file, node.moduleSpecifier.text);
      if (driver) report(node, driver, `imports ${node.moduleSpecifier.text}`);
      return; // the specifier itself is no name
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments;
      if (specifier && ts.isStringLiteralLike(specifier)) {
        const driver = importedDriver(file, specifier.text);
        if (driver) report(node, driver, `import('${specifier.text}')`);
        return;
      }
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) {
        const driver = importedDriver(file, literal.text);
        if (driver) report(node, driver, `import('${literal.text}') type`);
      }
      return;
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const name = node.text;
      if (name === TRANSPORT_TOO) {
        const how = simulatedAsDriver(node);
        if (how) report(node, name, how);
      } else if (DRIVER_NAMES.includes(name)) {
        report(node, name, `string literal ${node.getText(source)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(root, path).split(sep).join('/')] : [];
  });
}

const describeOffence = (offence: Offence) =>
  `${offence.file}:${offence.line}: names driver "${offence.driver}" (${offence.how})`;

describe('the driver boundary', () => {
  it('no file outside a driver’s folder and the registry names a driver (beyond the known offenders)', () => {
    const offences = sourceFiles(src)
      .filter((file) => file !== REGISTRY)
      .flatMap((file) => offencesIn(file, readFileSync(join(root, file), 'utf8')));
    const counts: Record<string, number> = {};
    for (const offence of offences) counts[offence.file] = (counts[offence.file] ?? 0) + 1;
    const problems: string[] = [];
    for (const file of new Set([...Object.keys(counts), ...Object.keys(KNOWN_OFFENDERS)])) {
      const count = counts[file] ?? 0;
      const known = KNOWN_OFFENDERS[file];
      if (count === known) continue;
      if (known === undefined || count > known) {
        problems.push(
          `${file} names a driver ${count} times (known: ${known ?? 0}):`,
          ...offences.filter((offence) => offence.file === file).map((o) => `  ${describeOffence(o)}`),
        );
      } else {
        problems.push(
          `${file} names a driver ${count} times, fewer than the ${known} in KNOWN_OFFENDERS: ` +
            (count === 0 ? 'remove its entry' : `set its entry to ${count}`),
        );
      }
    }
    expect(problems.join('\n')).toBe('');
  });

  describe('what counts as naming a driver', () => {
    const names = (file: string, text: string) => offencesIn(file, text).map(describeOffence);

    it('a driver’s name as a string literal or literal type, anywhere but in comments', () => {
      const text = [
        "// 'mbus' in a comment is no name",
        "const a = 'mbus';",
        'type B = { driver: "dali" };',
        'const c = `ble`;',
        "const d = 'mbus-ish and ble words inside a longer string';",
        'const e = `ble:${a}`;',
      ].join('\n');
      expect(names('src/gateway/example.ts', text)).toEqual([
        `src/gateway/example.ts:2: names driver "mbus" (string literal 'mbus')`,
        `src/gateway/example.ts:3: names driver "dali" (string literal "dali")`,
        'src/gateway/example.ts:4: names driver "ble" (string literal `ble`)',
      ]);
    });

    it('`simulated` only as a driver, never as the transport every driver has', () => {
      const text = [
        "if (device.driver === 'simulated') {}",
        "const device = { driver: 'simulated', transport: 'simulated' };",
        "type Sim = { driver: 'simulated' };",
        "if (device.transport === 'simulated') {}",
        "switch (device.driver) { case 'simulated': break; }",
        "switch (device.transport) { case 'simulated': break; }",
        "const transports = ['simulated'];",
      ].join('\n');
      expect(names('src/config/example.ts', text)).toEqual([
        `src/config/example.ts:1: names driver "simulated" (driver === 'simulated')`,
        `src/config/example.ts:2: names driver "simulated" (driver: 'simulated')`,
        `src/config/example.ts:3: names driver "simulated" (driver: 'simulated')`,
        `src/config/example.ts:5: names driver "simulated" (case 'simulated' of a switch on driver)`,
      ]);
    });

    it('imports from a driver’s folder, static, type-only or dynamic', () => {
      const text = [
        "import { a } from '../drivers/mbus/openBus.js';",
        "import type { B } from '../drivers/dali/lamps.js';",
        "export { c } from '../drivers/ble/heard.js';",
        "const d = await import('../drivers/simulated/runtime.js');",
        "import { e } from '../drivers/shared/wait.js';",
        "import type { F } from '../drivers/contract.js';",
        "import { DRIVERS } from '../drivers/registry.js';",
      ].join('\n');
      expect(names('src/gateway/example.ts', text)).toEqual([
        'src/gateway/example.ts:1: names driver "mbus" (imports ../drivers/mbus/openBus.js)',
        'src/gateway/example.ts:2: names driver "dali" (imports ../drivers/dali/lamps.js)',
        'src/gateway/example.ts:3: names driver "ble" (imports ../drivers/ble/heard.js)',
        'src/gateway/example.ts:4: names driver "simulated" (import(\'../drivers/simulated/runtime.js\'))',
      ]);
    });

    it('a driver’s folder may name itself, not another driver; shared/ and contract.ts name none', () => {
      const text = "import { x } from '../simulated/index.js';\nconst own = 'ble';\nconst other = 'dali';";
      expect(names('src/drivers/ble/index.ts', text)).toEqual([
        'src/drivers/ble/index.ts:1: names driver "simulated" (imports ../simulated/index.js)',
        `src/drivers/ble/index.ts:3: names driver "dali" (string literal 'dali')`,
      ]);
      expect(names('src/drivers/shared/wait.ts', "const x = 'ble';")).toHaveLength(1);
      expect(names('src/drivers/contract.ts', "import { y } from './mbus/index.js';")).toHaveLength(1);
    });
  });
});
