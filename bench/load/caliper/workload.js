'use strict';
// Caliper workload: ERC-20 transfer(to, 1) of the bundled BenchToken to rotating recipients.
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

class Transfer extends WorkloadModuleBase {
    constructor() {
        super();
        this.i = 0;
    }

    async submitTransaction() {
        this.i += 1;
        const to = '0x' + (1 + (this.i % 1000)).toString(16).padStart(40, '0');
        return this.sutAdapter.sendRequests({
            contract: 'token',
            verb: 'transfer',
            args: [to, 1],
            readOnly: false,
        });
    }
}

module.exports.createWorkloadModule = () => new Transfer();
