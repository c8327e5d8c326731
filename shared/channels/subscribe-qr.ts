import { channelUuid, findOwnedChannel } from './channel-store.js';
import { type Actor, type ChannelReadDeps, subscribeBotUsername } from './channels.js';
import { subscribeLink } from '../telegram/deep-links.js';
import { channelError } from './errors.js';

/** What `GET /channels/{id}/subscribe-qr.svg` answers. */
export interface SubscribeQrCode {
  /** The link the code encodes. */
  link: string;
  /** A standalone SVG document. */
  svg: string;
}

/**
 * The QR code of a link as an SVG document: error correction M (15 %, enough for a printed poster
 * with a scuff, and the smallest symbol that allows), the standard 4-module quiet zone, black on
 * white so a phone reads it on any background.
 */
export async function qrCodeSvg(text: string): Promise<string> {
  // Imported on first use: one dashboard route draws codes, and its cold start need not load the encoder.
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4, color: { dark: '#000000', light: '#ffffff' } });
}

/**
 * The QR code of a live channel's subscribe link, or of one active tier's (`tierNumber`). The link
 * is the one `subscribeLinks` in the channel resource shows.
 *
 * @throws PermanentError `channel_not_found` (also another account's or a deleted channel);
 *   `validation_failed` (`fields['query.tier']`) for a tier the channel does not sell.
 * @throws TransientError `bot_username_unavailable` when no username is configured and Telegram
 *   cannot be asked for it right now.
 */
export async function subscribeQrCode(deps: ChannelReadDeps, actor: Actor, channelPublicId: string, tierNumber?: number): Promise<SubscribeQrCode> {
  const channel = await findOwnedChannel(deps.db, actor.accountId, channelUuid(channelPublicId));
  const tierCount = channel.settings.tiers.length;
  if (tierNumber !== undefined && (tierNumber < 1 || tierNumber > tierCount)) {
    const reason = `this channel has no tier ${tierNumber}; it sells ${tierCount === 1 ? 'only tier 1' : `tiers 1 to ${tierCount}`}`;
    throw channelError('validation_failed', `No QR code for tier ${tierNumber}: ${reason}.`, { fields: { 'query.tier': reason } });
  }
  const botUsername = await subscribeBotUsername(deps);
  if (botUsername === undefined) {
    throw channelError('bot_username_unavailable', 'The bot username is not configured and Telegram could not be asked for it');
  }
  const link = subscribeLink(botUsername, channel.id, tierNumber);
  return { link, svg: await qrCodeSvg(link) };
}
