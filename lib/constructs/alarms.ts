import type { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';

/**
 * An alarm as the stack's alarms are by default: one occurrence in one period fires it, and no data
 * (nothing happened) is not a breach. `props` states what differs.
 */
export function alarm(
  scope: Construct,
  id: string,
  props: Omit<AlarmProps, 'threshold' | 'evaluationPeriods'> & Partial<AlarmProps>,
): Alarm {
  return new Alarm(scope, id, {
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    ...props,
  });
}

/** The Sum of one of the functions' EMF metrics, under the `service` dimension Powertools adds. */
export function functionMetric(
  namespace: string,
  service: string,
  metricName: string,
  period: Duration,
): Metric {
  return new Metric({ namespace, metricName, dimensionsMap: { service }, statistic: 'Sum', period });
}
