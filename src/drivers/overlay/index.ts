export { OverlayDriver, type OverlayDriverOptions } from './overlay.js';
