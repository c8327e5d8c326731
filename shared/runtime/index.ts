export { type Services, provideServices, resetServices, getServices, assertServicesConfigured } from './services.js';
