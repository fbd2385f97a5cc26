export { SimClock } from './clock.ts';
export {
  DEMO_SCENARIO_PATH,
  type FaultsInput,
  loadScenarioFile,
  parseScenario,
  type Scenario,
  ScenarioError,
  type ScenarioInput,
} from './scenario.ts';
export {
  type OAuthClient,
  type RunningSimulator,
  type SimulatorAdmin,
  type SimulatorOptions,
  type SimulatorStats,
  startSimulator,
} from './server.ts';
