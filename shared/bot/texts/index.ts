export {
  type Language,
  type MessageKey,
  type MessageParams,
  LANGUAGES,
  languageOf,
  translate,
  formatPrice,
  formatDate,
  esc,
} from './catalogue.js';
