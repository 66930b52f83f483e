import { backendFromEnv, checkRunSettings, type RunConfig, runPipeline } from '@dfq/core';
import type { Command } from 'commander';
import { progressPrinter } from '../progress-printer.js';
import { addRunOptions, runSettings } from '../run-options.js';

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
    .action(async (opts, command: Command) => {
      const settings = runSettings(command);
      checkRunSettings(settings);
      const config: RunConfig = {
        ...settings,
        modelPath: opts.model,
        outDir: opts.out,
        // 'auto' defers to the machine's DFQ_BACKEND, as a worker does.
        backend: settings.backend === 'auto' ? (backendFromEnv() ?? 'auto') : settings.backend,
      };
      const report = await runPipeline(config, progressPrinter());
      const e = report.evaluation;
      const lines = [
        `backend            ${report.backend}`,
        `model              ${report.model.name} (${report.model.params} params)`,
        `synthesis          ${report.synthesis.method}, ${report.synthesis.images} images x ${report.synthesis.iterations} iterations (${report.synthesis.sizing.imagesFrom === 'auto' || report.synthesis.sizing.iterationsFrom === 'auto' ? 'auto' : 'as asked'}), ${report.synthesis.seconds.toFixed(1)} s`,
        `quantizer          ${report.quantization.method}, ${report.quantization.accumulatorBits}-bit accumulators, ${report.quantization.overflows} overflows`,
        report.quantization.integerAgreementSynthetic === null
          ? `integer model      not written: layers kept in float (${report.quantization.keptFloat.join(', ')})`
          : `integer model      agrees with the fake-quantized model on ${pct(report.quantization.integerAgreementSynthetic)} of the synthetic images`,
        `size               ${report.quantization.bytesFp32} -> ${report.quantization.bytesQuantized} bytes`,
        e
          ? `accuracy           FP32 ${pct(e.fp32Accuracy)}  W${config.weightBits}A${config.activationBits} ${pct(e.quantizedAccuracy)}  integer ${pct(e.integerAccuracy)} (agrees ${pct(e.integerAgreement)})  TF.js uint8 ${pct(e.tfjsUint8Accuracy)}  ONNX Runtime QDQ ${pct(e.onnxRuntimeAccuracy)} (agrees ${pct(e.onnxRuntimeAgreement)})  (${e.samples} test images)`
          : 'accuracy           not evaluated (pass --eval <dir>)',
        `peak memory        ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
        `total              ${report.totalSeconds.toFixed(1)} s`,
        `report             ${config.outDir}/report.json (card: ${config.outDir}/card.md)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
