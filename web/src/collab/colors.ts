// Participant colours: distinct hues that keep 3:1 against both editor
// backgrounds for carets, with label text picked by labelTextColor.
const PALETTE = ["#d0312d", "#1f6feb", "#1a7f37", "#8250df", "#c4432b", "#0e7490", "#b3287a", "#9a6700"];

export function colorFor(userId: string): string {
  let h = 0;
  for (let i = 0; i < userId.length; i++) h = (h * 31 + userId.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}
