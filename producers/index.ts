/** The command producer library: typed builders, the batching producer and its errors. */
export {
  type CancelReservationInput,
  type Clock,
  CommandBuilder,
  type CommandBuilderOptions,
  MAX_ID_LENGTH,
  type RecordPaymentResultInput,
  type RequestReservationInput,
  type ReservationChangeInput,
  type RetireResourceInput,
  type UpsertResourceInput,
} from './commands.ts';
export {
  DeliveryUnknownError,
  InvalidCommandError,
  outcomeOf,
  type Problem,
  ProduceRefusedError,
  ProducerNotReadyError,
  ProducerOverloadedError,
  ProducerUnavailableError,
  type SendOutcome,
} from './errors.ts';
export {
  type Acknowledgement,
  CommandProducer,
  type CommandProducerDeps,
  type ProducerObserver,
  type ProducerState,
} from './producer.ts';
export {
  COMPRESSIONS,
  type CommandProducerOptions,
  type CompressionName,
  compileProducerOptions,
  producerDefaults,
} from './producer-options.ts';
