export type StepName =
  | 'claim' | 'received' | 'attempt' | 'ledger' | 'outcome' | 'response'
  | 'checkpoint' | 'tree' | 'reconcile-claim' | 'lookup' | 'reconciled' | 'seal';
export type Mode = 'kill' | 'fail';
export interface Step { n: number; name: StepName; phase: 'payment' | 'reconcile' | 'seal'; point: string; nths?: readonly number[] }
export interface Fault { step: StepName; mode: Mode; nth: number }
export const STEPS: readonly Step[];
export const MODES: readonly Mode[];
export const FAULT_ENV: 'FAULT_AT';
export const CONTROL_FILE_ENV: 'FAULT_CONTROL_FILE';
export function faultSpec(fault: Fault): string;
export const CLOCK_OFFSET_ENV: 'FAULT_CLOCK_OFFSET_MS';
export function parseFault(value: string): Fault;
export function faultLine(fault: Fault): string;
