import { runPipeline } from '@dfq/core';
import type { Command } from 'commander';
import { progressPrinter } from '../progress-printer.js';
import { addRunOptions, localRunConfig } from '../run-options.js';

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(2)}%`);

export function registerRunCommand(program: Command): void {
  addRunOptions(
    program
      .command('run')
      .description(
        'quantize a TF.js Layers model (model.json) or an ONNX model (.onnx) in this process: synthesize -> calibrate -> quantize -> report',
      ),
  )
    .requiredOption('--out <dir>', 'output directory for report.json, the quantized model and images')
    .action(async (_opts, command: Command) => {
      const config = localRunConfig(command);
      const report = await runPipeline(config, progressPrinter());
      const e = report.evaluation;
      const mixed = report.quantization.mixedPrecision;
      const setting = mixed
        ? `mixed W${[...new Set(Object.values(mixed.bits))].sort((a, b) => a - b).join('/')}A${config.activationBits}`
        : `W${config.weightBits}A${config.activationBits}`;
      const lines = [
        `backend            ${report.backend}`,
        `model              ${report.model.name} (${report.model.params} params)`,
        `synthesis          ${report.synthesis.method}, ${report.synthesis.images} images x ${report.synthesis.iterations} iterations (${report.synthesis.sizing.imagesFrom === 'auto' || report.synthesis.sizing.iterationsFrom === 'auto' ? 'auto' : 'as asked'}), ${report.synthesis.seconds.toFixed(1)} s`,
        `quantizer          ${report.quantization.method}, ${report.quantization.accumulatorBits}-bit accumulators, ${report.quantization.overflows} overflows`,
        report.quantization.integerAgreementSynthetic === null
          ? `integer model      not written: layers kept in float (${report.quantization.keptFloat.join(', ')})`
          : `integer model      agrees with the fake-quantized model on ${pct(report.quantization.integerAgreementSynthetic)} of the synthetic images`,
        `size               ${report.quantization.bytesFp32} -> ${report.quantization.bytesQuantized} bytes`,
        ...(mixed
          ? [
              `mixed precision    ${Object.entries(mixed.bits)
                .map(([layer, bits]) => `${layer}=${bits}`)
                .join(
                  ', ',
                )}: weights ${mixed.bytes} bytes (uniform W4 ${mixed.uniformBytes.w4}, W8 ${mixed.uniformBytes.w8}; budget ${Math.floor(mixed.budgetBytes)}), agreement with FP32 on the synthetic images ${pct(mixed.agreement)}`,
            ]
          : []),
        e
          ? `accuracy           FP32 ${pct(e.fp32Accuracy)}  ${setting} ${pct(e.quantizedAccuracy)}  integer ${pct(e.integerAccuracy)} (agrees ${pct(e.integerAgreement)})  TF.js uint8 ${pct(e.tfjsUint8Accuracy)}  ONNX Runtime QDQ ${pct(e.onnxRuntimeAccuracy)} (agrees ${pct(e.onnxRuntimeAgreement)})  (${e.samples} test images)`
          : 'accuracy           not evaluated (pass --eval <dir>)',
        `peak memory        ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        `total              ${report.totalSeconds.toFixed(1)} s`,
        `report             ${config.outDir}/report.json (card: ${config.outDir}/card.md)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
