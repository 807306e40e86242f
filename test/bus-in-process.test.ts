import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { busContract } from './bus.contract.js'

busContract('InProcessBus', async () => new InProcessBus())
