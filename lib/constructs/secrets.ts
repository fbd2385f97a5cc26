import { Validations } from 'aws-cdk-lib';
import type { Grant } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Properties of {@link IntakeSecrets}. */
export interface IntakeSecretsProps {
  /**
   * Length of the generated API key; at least 16, as the intake requires.
   * @default 48
   */
  readonly keyLength?: number;

  /**
   * The username HTTP Basic callers (a Databricks notification destination) must send with the key.
   * @default 'databricks'
   */
  readonly basicUsername?: string;
}

/**
 * The API keys the intake endpoint accepts, as one Secrets Manager secret
 * `{"current": "...", "previous": "", "basic_username": "databricks"}`. CloudFormation generates
 * `current` at creation, so no key ever passes through code, templates or logs.
 */
export class IntakeSecrets extends Construct {
  /** The secret holding `current` and `previous`. */
  public readonly apiKeys: Secret;

  constructor(scope: Construct, id: string, props: IntakeSecretsProps = {}) {
    super(scope, id);

    const keyLength = props.keyLength ?? 48;
    if (keyLength < 16)
      throw new Error(`${this.node.path}: keyLength must be at least 16, the intake refuses shorter keys`);
    const basicUsername = props.basicUsername ?? 'databricks';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(basicUsername)) {
      throw new Error(`${this.node.path}: basicUsername must be 1 to 64 letters, digits, '.', '_' or '-'`);
    }
    this.apiKeys = new Secret(this, 'ApiKeys', {
      description:
        'API keys accepted by the Databricks cluster recovery intake: current and, during a rotation, previous',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ previous: '', basic_username: basicUsername }),
        generateStringKey: 'current',
        passwordLength: keyLength,
        // Keys are pasted into Databricks and sent in HTTP headers: letters and digits need no escaping anywhere.
        excludePunctuation: true,
      },
    });
    Validations.of(this.apiKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotated by the operator, not by a rotation Lambda: the new key is written to "current" and the old one moved to "previous", and the intake accepts both until Databricks and every caller use the new key. A scheduled rotation would invalidate keys that clients outside AWS still send.',
    });
  }

  /** Lets a function read the API keys, and tells it where in `INTAKE_SECRET_ARN`. */
  public grantRead(fn: LambdaFunction): Grant {
    fn.addEnvironment('INTAKE_SECRET_ARN', this.apiKeys.secretArn);
    return this.apiKeys.grantRead(fn);
  }
}
