import jsQRModule from 'jsqr';
import { describe, expect, it } from 'vitest';
import { qrCodeSvg } from './subscribe-qr.js';
import { subscribeLink } from '../telegram/deep-links.js';

// jsqr is CommonJS whose `exports.default` is the decoder: the default import is the whole module.
const jsQR = jsQRModule.default;
const PIXELS_PER_MODULE = 6;

/**
 * Paints the SVG the way a browser does, then reads it with a QR decoder: the proof that what we
 * serve is a QR code of the link, not merely something `qrcode` produced. The document is one white
 * square and one black path of horizontal strokes (`M x y`, `m dx dy`, `h n`, default width 1,
 * centred on y), which is all this painter understands; anything else fails the test.
 */
function decodeSvg(svg: string): string | undefined {
  const viewBox = /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) (\d+)"[^>]*>/.exec(svg);
  expect(viewBox, 'a standalone SVG with a square viewBox').not.toBeNull();
  const size = Number(viewBox![1]);
  expect(Number(viewBox![2])).toBe(size);
  expect(svg).toContain(`<path fill="#ffffff" d="M0 0h${size}v${size}H0z"/>`);
  const path = /<path stroke="#000000" d="([^"]+)"\/>/.exec(svg)?.[1];
  expect(path, 'one black stroked path').toBeDefined();
  expect(svg).not.toMatch(/stroke-width|<script|href=/);

  const dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  const commands = path!.match(/[A-Za-z][^A-Za-z]*/g) ?? [];
  for (const command of commands) {
    const [op, ...args] = [command[0]!, ...command.slice(1).trim().split(/[\s,]+/).map(Number)];
    if (op === 'M') [x, y] = [args[0]!, args[1]!];
    else if (op === 'm') [x, y] = [x + args[0]!, y + args[1]!];
    else if (op === 'h') {
      // A stroke of width 1 centred on y = row + 0.5 covers exactly that row of modules.
      for (let column = x; column < x + args[0]!; column++) dark[Math.floor(y)]![column] = true;
      x += args[0]!;
    } else throw new Error(`unexpected path command ${op}`);
  }

  const pixels = size * PIXELS_PER_MODULE;
  const rgba = new Uint8ClampedArray(pixels * pixels * 4);
  for (let py = 0; py < pixels; py++) {
    for (let px = 0; px < pixels; px++) {
      const value = dark[Math.floor(py / PIXELS_PER_MODULE)]![Math.floor(px / PIXELS_PER_MODULE)] ? 0 : 255;
      rgba.set([value, value, value, 255], (py * pixels + px) * 4);
    }
  }
  return jsQR(rgba, pixels, pixels, { inversionAttempts: 'dontInvert' })?.data;
}

describe('qrCodeSvg', () => {
  const channelId = '0b5a3f4e-8c1d-4e2f-9a6b-7c8d9e0f1a2b';

  it.each([
    ['a channel link', subscribeLink('PayGatePrimeBot', channelId)],
    ['a tier link', subscribeLink('PayGatePrimeBot', channelId, 3)],
    ['a link with the longest bot username', subscribeLink(`${'a'.repeat(29)}bot`, channelId, 2)],
  ])('draws a QR code that decodes to exactly %s', async (_, link) => {
    expect(decodeSvg(await qrCodeSvg(link))).toBe(link);
  });

  it('draws different codes for different tiers, and the same code for the same link', async () => {
    const tier1 = await qrCodeSvg(subscribeLink('PayGatePrimeBot', channelId, 1));
    const tier2 = await qrCodeSvg(subscribeLink('PayGatePrimeBot', channelId, 2));
    expect(tier1).not.toBe(tier2);
    expect(await qrCodeSvg(subscribeLink('PayGatePrimeBot', channelId, 1))).toBe(tier1);
  });

  it('keeps the 4-module quiet zone a scanner needs', async () => {
    const svg = await qrCodeSvg(subscribeLink('PayGatePrimeBot', channelId));
    const firstMove = /d="M(\d+) ([\d.]+)h/.exec(svg.slice(svg.indexOf('stroke=')));
    expect(firstMove?.slice(1)).toEqual(['4', '4.5']);
  });
});
