export { type Services, provideServices, resetServices, getServices, servicesIfReady, assertServicesConfigured } from './services.js';
