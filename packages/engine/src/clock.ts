// The engine's clock is the shared one (one Clock shape for every package).
export { ManualClock, systemClock, type Clock, type TimerHandle } from '@tc/clock';
