export { createSimulatedGateway, DEFAULT_RETRY_AFTER_MS, type SimulatedGatewayOptions } from './simulated-gateway.js';
export { TEST_CARDS, type TestCardBehaviour } from './test-cards.js';
