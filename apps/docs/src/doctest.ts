/**
 * Code blocks in Markdown that are run by the tests, so that documentation cannot rot: every
 * ```ts block of a page, in order, and the output it promises. A line `console.log(...); // → text`
 * promises that this log prints `text` (as Node's console.log prints it); the blocks of one page
 * run as one program, so a later block sees what an earlier one made.
 */

export interface CodeBlock {
  /** The block's source, without the fences. */
  code: string;
  /** 1-based line of the opening fence in the page, for error messages. */
  line: number;
}

/** The ```ts (or ```typescript) blocks of a Markdown page; a block fenced ```ts skip-test is left out. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)(\s+skip-test)?\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i === lines.length)
      throw new Error(`codeBlocks: the block opened on line ${start + 1} is never closed`);
    if (!open[2]) blocks.push({ code: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

/** The lines a program promises to print: the text after `// → ` on its console.log lines. */
export function promisedOutput(code: string): string[] {
  const promised: string[] = [];
  for (const line of code.split('\n')) {
    const match = /console\.log\(.*\);?\s*\/\/ → (.*)$/.exec(line);
    if (match) promised.push(match[1].trim());
  }
  return promised;
}

/**
 * One page's blocks as one ES module: the import lines of every block hoisted to the top (and
 * merged per module), the rest in page order.
 */
export function pageProgram(blocks: CodeBlock[]): string {
  const imports = new Map<string, Set<string>>();
  const sideEffectImports = new Set<string>();
  const body: string[] = [];
  for (const block of blocks) {
    const code = block.code.replace(
      /^import\s+([\s\S]*?)\s+from\s+'([^']+)';\s*$/gm,
      (_, names: string, from: string) => {
        const set = imports.get(from) ?? new Set<string>();
        set.add(names.trim());
        imports.set(from, set);
        return '';
      },
    );
    body.push(
      code.replace(/^import\s+'([^']+)';\s*$/gm, (_, from: string) => {
        sideEffectImports.add(from);
        return '';
      }),
    );
  }
  const importLines = [...sideEffectImports].map((from) => `import '${from}';`);
  for (const [from, clauses] of imports) {
    const named = new Set<string>();
    for (const clause of clauses) {
      const braces = /^(?:type\s+)?\{([\s\S]*)\}$/.exec(clause);
      if (braces) {
        for (const name of braces[1]
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean))
          named.add(name);
      } else importLines.push(`import ${clause} from '${from}';`);
    }
    if (named.size > 0) importLines.push(`import { ${[...named].join(', ')} } from '${from}';`);
  }
  return [...importLines, ...body].join('\n');
}

/** A page as what the tests run: its blocks as one program, and every line the blocks promise. */
export function runnablePage(markdown: string): { blocks: CodeBlock[]; program: string; promised: string[] } {
  const blocks = codeBlocks(markdown);
  return { blocks, program: pageProgram(blocks), promised: blocks.flatMap((b) => promisedOutput(b.code)) };
}
