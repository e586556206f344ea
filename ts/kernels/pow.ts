/**
 * Mirror of crates/core/src/pow.rs: `base^exp` by binary exponentiation in f64, the same
 * multiplications in the same order, so bias corrections are identical to the core's.
 */
export function powiExact(base: number, exp: number): number {
  let result = 1;
  let b = base;
  let e = exp;
  while (e > 0) {
    if (e % 2 === 1) result *= b;
    e = Math.floor(e / 2);
    if (e > 0) b *= b;
  }
  return result;
}
