import { featurePrismaConfig } from '../feature-config.js';

export default featurePrismaConfig('booking');
