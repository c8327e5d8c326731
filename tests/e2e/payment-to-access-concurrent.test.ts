import { definePaymentToAccessTest } from './payment-to-access.js';

// Every message delivered twice at the same moment: the duplicate must not double a DM or a link.
definePaymentToAccessTest('concurrently');
