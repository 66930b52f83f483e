import { runAnalysis } from '@dfq/core';
import type { Command } from 'commander';
import { progressPrinter } from '../progress-printer.js';
import { addRunOptions, localRunConfig } from '../run-options.js';

export function registerAnalyzeCommand(program: Command): void {
  addRunOptions(
    program
      .command('analyze')
      .description(
        "measure each layer's sensitivity to quantization on synthetic images (output KL and top-1 agreement with FP32 at W2 to W8 and A4/A8, Hessian trace), without quantizing: writes analysis/sensitivity.json and charts",
      ),
  )
    .requiredOption('--out <dir>', 'output directory for analysis/ (sensitivity.json, charts) and the images')
    .action(async (_opts, command: Command) => {
      const config = localRunConfig(command);
      const report = await runAnalysis(config, progressPrinter());
      const lowest = Math.min(...report.sensitivity.weightBits);
      const rows = report.ranking.map((name) => {
        const layer = report.sensitivity.layers.find((l) => l.layer === name);
        const c = layer?.candidates.find((x) => x.bits === lowest);
        return `  ${name.padEnd(28)} KL at W${lowest} ${c ? c.kl.toExponential(2) : 'n/a'}  agreement ${c ? (100 * c.agreement).toFixed(2) : 'n/a'}%  Hessian trace/weight ${layer?.hessianTracePerWeight?.toExponential(2) ?? 'n/a'}`;
      });
      process.stdout.write(
        `${[
          `model              ${report.model}`,
          `synthesis          ${report.synthesis.method}, ${report.synthesis.images} images, ${report.synthesis.seconds.toFixed(1)} s`,
          `most sensitive first (each layer alone):`,
          ...rows,
          `charts             ${Object.values(report.artifacts.charts)
            .map((c) => `${config.outDir}/${c.png}`)
            .join(', ')}`,
          `peak memory        ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
          `total              ${report.seconds.toFixed(1)} s`,
          `sensitivity        ${config.outDir}/${report.artifacts.sensitivity}`,
        ].join('\n')}\n`,
      );
    });
}
