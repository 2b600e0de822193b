/** `x` to `digits + 1` significant digits: how the report rounds its figures. */
export const round = (x: number, digits = 3) => Number(x.toPrecision(digits + 1));

/** Bytes in MiB. */
export const mb = (bytes: number) => bytes / 2 ** 20;
