export const DFQ_VERSION = '0.1.0';
