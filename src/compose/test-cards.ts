/** The simulated gateway's test cards, for the runtimes that show them (the OpenAPI document's examples). */
export { TEST_CARDS, type TestCardBehaviour } from '../adapters/gateway/simulated/test-cards.js';
