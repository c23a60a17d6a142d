import type { Config } from '../config/config.js';
import type { AuditMirror } from '../ports/audit-mirror.js';

/**
 * The audit mirror `paylog serve` was configured with (PAYLOG_MIRROR). The CloudWatch Logs
 * client is loaded only when that mirror is chosen.
 */
export async function openMirror(config: Config, streamName: string): Promise<AuditMirror | undefined> {
  if (config.mirror === 'stdout') {
    const { createStdoutMirror } = await import('../adapters/mirror/stdout.js');
    return createStdoutMirror();
  }
  if (config.mirror.startsWith('cloudwatch:')) {
    const [{ CloudWatchLogsClient }, { createCloudWatchLogsMirror }] = await Promise.all([
      import('@aws-sdk/client-cloudwatch-logs'),
      import('../adapters/mirror/cloudwatch-logs.js'),
    ]);
    return createCloudWatchLogsMirror({ client: new CloudWatchLogsClient({}), logGroup: config.mirror.slice('cloudwatch:'.length), logStream: streamName });
  }
  return undefined;
}
