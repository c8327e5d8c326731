import { definePaymentToAccessTest } from './payment-to-access.js';

// Every message delivered a second time after the first was acknowledged.
definePaymentToAccessTest('after-ack');
