/** Numbers as the operator reads them: 4,137. */
export const fmt = (n: number) => n.toLocaleString('en-US');
