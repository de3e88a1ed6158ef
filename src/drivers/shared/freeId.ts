/** A device id not yet taken: `base`, else `base_2`, `base_3`, … (and takes it). */
export function freeId(base: string, taken: Set<string>): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
  taken.add(id);
  return id;
}
