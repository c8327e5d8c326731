export { type PublicIdKind, PUBLIC_ID_PREFIXES, formatPublicId, parsePublicId } from './public-id.js';
